"""LangChain users can plug a knowledge base in as a retriever and the QA chain as a Runnable."""

from __future__ import annotations

from conftest import write_files
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from kb_app.langchain_adapters import KnowledgeBaseRetriever, QAChain


def _kb(fast_container, tmp_path):
    folder = write_files(
        tmp_path / "docs",
        {
            "router.txt": "星河路由器的默认管理地址是 192.168.8.1。",
            "leave.txt": "员工每年享有十五天带薪年假。",
        },
    )
    fast_container.ingest("hr", [folder])
    return fast_container.open_kb("hr")


def test_retriever_returns_documents_with_source_and_score(fast_container, tmp_path):
    kb = _kb(fast_container, tmp_path)
    retriever = KnowledgeBaseRetriever(retriever=fast_container.retriever(kb), top_k=1)
    docs = retriever.invoke("星河路由器的默认管理地址")
    assert len(docs) == 1 and isinstance(docs[0], Document)
    assert docs[0].metadata["source"] == "router.txt" and 0 <= docs[0].metadata["score"] <= 1
    chain = retriever | RunnableLambda(lambda ds: [d.metadata["source"] for d in ds])
    assert chain.invoke("每年多少天年假") == ["leave.txt"]


def test_qa_chain_is_a_runnable_that_composes(fast_container, tmp_path):
    _kb(fast_container, tmp_path)
    fast_container.generator.enqueue("星河路由器的默认管理地址是 192.168.8.1。")
    chain = QAChain(fast_container.qa("hr")) | RunnableLambda(
        lambda a: (a["answer"], a["citations"][0]["source"])
    )
    assert chain.invoke("默认管理地址是什么？") == ("星河路由器的默认管理地址是 192.168.8.1。", "router.txt")
